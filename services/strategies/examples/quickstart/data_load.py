# Quick start, Data Load: one reminder email, sent as soon as the campaign runs (within 4 hours, or never).
# Stage used: "1 Reminder" (Email Notification). Columns used: amount_due, due_date.


def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    if existing_contact is not None:
        # Uploaded again: keep what happened so far, take the new column values.
        existing_contact.parameters.update(contact.parameters)
        return existing_contact
    now = kwargs["now"]
    contact.communications.append(Communication(
        name="Payment reminder",
        stage_name="1 Reminder",
        start_date=now,
        end_date=now + timedelta(hours=4),
    ))
    contact.current_stage = "1 Reminder"
    logger.info("planned a reminder for %s (%s due)", contact.email, contact.parameters.get("amount_due"))
    return contact
