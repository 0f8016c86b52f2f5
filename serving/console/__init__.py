"""The review console: server-rendered pages for auditors at `/console` (see `routes`)."""
