"""`overdue simulate` (SPEC §7): a scenario run over the real services on a virtual
clock, written out as a timeline."""
