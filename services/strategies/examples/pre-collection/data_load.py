# Pre-collection, Data Load: remind before the due date.
# Stages: "1 Email reminder", "2 WhatsApp reminder", "3 Due-date call", "4 Missed payment email".
# Columns used: due_date (YYYY-MM-DD), amount_due.

REMINDERS = [
    # (stage, days before the due date, hour of day in UTC)
    ("1 Email reminder", 7, 9),
    ("2 WhatsApp reminder", 3, 10),
    ("3 Due-date call", 0, 11),
]


def due_date_of(contact):
    raw = contact.parameters.get("due_date")
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


async def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    now = kwargs["now"]
    due = due_date_of(contact)
    if due is None:
        logger.warning("contact %s has no valid due_date (%r); nothing planned", contact.object_id, contact.parameters.get("due_date"))
        contact.outcome = OutcomeStatus.ERROR
        return contact

    if existing_contact is not None:
        # A re-upload: keep the history, and re-plan only if the due date moved.
        if due_date_of(existing_contact) == due:
            return existing_contact
        for comm in existing_contact.communications:
            if comm.status == CommunicationStatus.PLANNED:
                comm.status = CommunicationStatus.INTERRUPTED
        existing_contact.parameters.update(contact.parameters)
        contact = existing_contact
        logger.info("due date of %s moved to %s: re-planning", contact.object_id, due.date())

    for stage, days_before, hour in REMINDERS:
        start = (due - timedelta(days=days_before)).replace(hour=hour)
        if start + timedelta(hours=8) <= now:
            continue  # its day is over: no late reminders
        contact.communications.append(Communication(
            name=f"{stage[2:]} ({days_before} days before)" if days_before else stage[2:],
            stage_name=stage,
            start_date=max(start, now),
            end_date=start + timedelta(hours=8),
        ))
    contact.current_stage = contact.communications[-1].stage_name if contact.communications else None
    contact.internal_data["due_date"] = due
    return contact
