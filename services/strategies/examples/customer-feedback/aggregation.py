# Customer feedback, Aggregation: thank participants, remind non-responders once.
# session_results: {"SurveyCompleted": true, "Score": 9, "Comment": "..."} when answered.


async def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    now = kwargs["now"]
    results = session_results or {}
    ended = next(c for c in contact.communications if c.flagged)

    if results.get("SurveyCompleted"):
        score = results.get("Score")
        contact.results.update(Score=score, Comment=results.get("Comment"), ResultFlag=True)
        contact.outcome = OutcomeStatus.SUCCESS if (score or 0) >= 7 else OutcomeStatus.POSITIVE
        for comm in contact.communications:
            if comm.status == CommunicationStatus.PLANNED:
                comm.status = CommunicationStatus.INTERRUPTED  # no more reminders or calls
        contact.communications.append(Communication(name="Thank you", stage_name="4 Thank-you email", start_date=now + timedelta(minutes=5)))
        contact.current_stage = "4 Thank-you email"
        return contact

    reminded = any(c.stage_name == "2 WhatsApp reminder" for c in contact.communications)
    if ended.stage_name == "1 Survey email" and not reminded:
        contact.communications.append(Communication(name="Survey reminder", stage_name="2 WhatsApp reminder", start_date=now + timedelta(days=2)))
        contact.current_stage = "2 WhatsApp reminder"
    elif ended.status == CommunicationStatus.MISSED or ended.stage_name == "2 WhatsApp reminder":
        contact.outcome = OutcomeStatus.UNCERTAIN
        contact.results["ResultFlag"] = False
    return contact
