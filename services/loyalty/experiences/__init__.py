"""Exclusive experiences: private evenings, open rehearsals and backstage visits, offered to
members in a stated fair order within contact guardrails, with seats, a waitlist, guests, and an
exactly-once check-in at the door."""
