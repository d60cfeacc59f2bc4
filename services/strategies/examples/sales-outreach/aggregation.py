# Sales outreach, Aggregation: route each lead by the interest the agent recorded
# (session_results {"Interest": "QUALIFIED" | "INTERESTED" | "NOT_READY" | "NOT_INTERESTED"}).

NURTURE_WEEKS = 3


def plan(contact, name, stage, start, **settings):
    contact.communications.append(Communication(name=name, stage_name=stage, start_date=start, **settings))
    contact.current_stage = stage


async def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    now = kwargs["now"]
    interest = (session_results or {}).get("Interest", "NO_RESPONSE")
    contact.results["Interest"] = interest
    touches = contact.internal_data.get("touches", 0) + 1
    contact.internal_data["touches"] = touches

    if interest == "QUALIFIED":
        contact.outcome = OutcomeStatus.POSITIVE
        plan(contact, "Qualification call", "3 Qualification call", now + timedelta(hours=2), end_date=now + timedelta(days=2))
    elif interest == "INTERESTED":
        contact.outcome = OutcomeStatus.POSITIVE
        plan(contact, "WhatsApp follow-up", "2 WhatsApp follow-up", now + timedelta(days=1))
    elif interest == "NOT_READY":
        # A weekly nurture email, NURTURE_WEEKS of them.
        for week in range(1, NURTURE_WEEKS + 1):
            plan(contact, f"Nurture {week}", "4 Nurture email", now + timedelta(weeks=week))
    elif interest == "NOT_INTERESTED":
        contact.outcome = OutcomeStatus.NEGATIVE
        contact.results["ResultFlag"] = False
        for comm in contact.communications:
            if comm.status == CommunicationStatus.PLANNED:
                comm.status = CommunicationStatus.INTERRUPTED
    elif interest == "MEETING_BOOKED":
        contact.outcome = OutcomeStatus.SUCCESS
        contact.results["ResultFlag"] = True
    elif touches < 4:
        # No answer: try WhatsApp two days later, at most a few times in all.
        plan(contact, "WhatsApp follow-up", "2 WhatsApp follow-up", now + timedelta(days=2))
    logger.info("lead %s: %s after %d touches", contact.object_id, interest, touches)
    return contact
