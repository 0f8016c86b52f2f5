"""Reports on scored call histories: the diversion-opportunity report (`divert report diversion`)."""
