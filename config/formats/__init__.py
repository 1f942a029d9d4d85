"""Tandem's own date formats where Django's differ from what its users read (FORMAT_MODULE_PATH);
every other language keeps Django's own formats for that locale."""
