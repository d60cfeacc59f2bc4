# Customer feedback, Data Load: invite everyone to the survey by email; VIPs also get a call.
# Stages: "1 Survey email", "2 WhatsApp reminder", "3 VIP call", "4 Thank-you email". Column used: tier.

async def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    if existing_contact is not None:
        return existing_contact  # one survey per customer
    now = kwargs["now"]
    contact.communications.append(Communication(name="Survey invitation", stage_name="1 Survey email", start_date=now + timedelta(minutes=15)))
    if str(contact.parameters.get("tier", "")).upper() == "VIP":
        contact.communications.append(Communication(name="VIP call", stage_name="3 VIP call", start_date=now + timedelta(days=3)))
    contact.current_stage = "1 Survey email"
    return contact
