"""Webhooks: signed POSTs to each tenant's URL on status changes and final transcripts."""
