# Quick start, Aggregation: a reminder that went out is a success; one that could not be sent is an error.


def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    ended = next(c for c in contact.communications if c.flagged)
    if ended.status == CommunicationStatus.COMPLETED:
        contact.outcome = OutcomeStatus.SUCCESS
        contact.results["ResultFlag"] = True
    else:
        contact.outcome = OutcomeStatus.ERROR
        logger.warning("reminder for %s ended %s: %s", contact.email, ended.status.status, ended.status.result)
    return contact
