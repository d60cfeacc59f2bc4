# Sales outreach, Intermediate analysis: a lead asking for a call gets one soon, while still warm.


async def on_agent_answer(contact: Contact, message: Message, **kwargs) -> Contact | None:
    if message.role != "contact" or "call me" not in message.content.lower():
        return None
    if any(c.stage_name == "3 Qualification call" and c.status == CommunicationStatus.PLANNED for c in contact.communications):
        return None  # already planned
    now = kwargs["now"]
    contact.communications.append(Communication(
        name="Requested call", stage_name="3 Qualification call", start_date=now + timedelta(minutes=30), end_date=now + timedelta(hours=4),
    ))
    contact.outcome = OutcomeStatus.POSITIVE
    return contact
