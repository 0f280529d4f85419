"""STIX-CONF access: energy channels, ELUTs, ECC configurations (by date)."""
