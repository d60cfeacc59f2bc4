# Pre-collection, Aggregation: read each communication's result and decide what comes next.
# The channel (or agent) reports session_results such as {"PaymentStatus": "PAID"} or
# {"PaymentStatus": "PROMISED", "PromiseDate": "2026-07-03"}.


def cancel_planned(contact):
    for comm in contact.communications:
        if comm.status == CommunicationStatus.PLANNED:
            comm.status = CommunicationStatus.INTERRUPTED


async def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    now = kwargs["now"]
    ended = next(c for c in contact.communications if c.flagged)
    status = (session_results or {}).get("PaymentStatus")
    logger.info("%s ended %s with PaymentStatus=%s", ended.name, ended.status.status, status)

    if status == "PAID":
        cancel_planned(contact)
        contact.outcome = OutcomeStatus.SUCCESS
        contact.results["ResultFlag"] = True
        return contact
    if status == "PROMISED":
        contact.outcome = OutcomeStatus.POSITIVE
        contact.results["PromiseDate"] = session_results.get("PromiseDate")
        return contact
    if status == "REFUSED":
        cancel_planned(contact)
        contact.outcome = OutcomeStatus.NEGATIVE
        contact.results["ResultFlag"] = False
        return contact

    # The due-date call went by without a payment: one follow-up email the next morning.
    if ended.stage_name == "3 Due-date call" and contact.outcome != OutcomeStatus.SUCCESS:
        due = contact.internal_data.get("due_date") or now
        follow_up = max(due + timedelta(days=1, hours=9), now)
        contact.communications.append(Communication(
            name="Missed payment", stage_name="4 Missed payment email", start_date=follow_up, end_date=follow_up + timedelta(hours=12),
        ))
        contact.current_stage = "4 Missed payment email"
    return contact
