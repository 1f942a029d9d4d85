# English as Tandem's programmes write it (day, month, year): 3 Dec 2026, 3 Dec 2026, 14:05.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
