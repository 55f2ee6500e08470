"""Earning: recording events and awarding points, the what-if preview, reversals, and the job that
releases pending points and expires old ones."""
