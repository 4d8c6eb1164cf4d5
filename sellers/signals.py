"""What the sellers app tells the apps above it, which it may not import (CONVENTIONS)."""

from django.dispatch import Signal

# Sent inside the evaluation's transaction, once per chunk of sellers, after their bands
# are brought up to date; receivers work set-based on two temporary tables of this
# connection:
#   ``affected``: ``(seller_id)``, every seller evaluated;
#   ``band_changes``: ``(seller_id, from_band, to_band, score, effective_on)``, those
#   whose band moved in this evaluation ('' for ``from_band``: the first value).
# ``day`` is the evaluated day. A receiver that raises rolls the evaluation back.
health_evaluated = Signal()
