"""Routing's standard forms (Circular 03/2025 Annex I): 04 apology and extension, 05 stop notice,
06 control slip (`printed`), 07 tracking book (`tracking`); drawn with the chassis' kit
(`onestop_chassis.pdf`) like the desk's forms 01-03."""
