"""The `subledger` command line (`main`) and what each subcommand does (`handlers`)."""
