# Sales outreach, Data Load: introduce ourselves by email an hour after the import.
# Stages: "1 Intro email", "2 WhatsApp follow-up", "3 Qualification call", "4 Nurture email".

async def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    if existing_contact is not None:
        # Already in the campaign: refresh the imported columns, never restart the sequence.
        existing_contact.parameters.update(contact.parameters)
        return existing_contact
    start = kwargs["now"] + timedelta(hours=1)
    contact.communications.append(Communication(name="Introduction", stage_name="1 Intro email", start_date=start))
    contact.current_stage = "1 Intro email"
    contact.internal_data["touches"] = 1
    return contact
