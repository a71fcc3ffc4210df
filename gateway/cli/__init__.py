"""The command line: ``intygsgw`` and its subcommands."""
