"""Model Monitor schedules on the twin (moto has none): kept, described, fired on its clock."""
