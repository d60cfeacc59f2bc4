# Pre-collection, Intermediate analysis: react while the conversation is still going on.


async def on_agent_answer(contact: Contact, message: Message, **kwargs) -> Contact | None:
    if message.role != "contact":
        return None  # only the customer's words matter here
    text = message.content.lower()
    contact.internal_data["last_message_time"] = message.created_at or kwargs["now"]
    if "already paid" in text or "paid yesterday" in text:
        contact.outcome = OutcomeStatus.POSITIVE
        contact.internal_data["says_paid"] = True
    elif "promise to pay" in text or "will pay" in text:
        contact.outcome = OutcomeStatus.POSITIVE
    return contact
