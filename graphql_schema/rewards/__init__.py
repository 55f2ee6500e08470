"""Rewards: the catalogue (with eligibility for a signed-in member), its management by admins
(create, update, retire), and redeeming points for a reward, which returns a voucher. Everything
about the catalogue belongs here.

Managing the catalogue: ``createReward`` is idempotent by the reward's ``key`` (the same input
again answers ``created: false``; the same key with other content is ``RewardKeyTaken``);
``updateReward`` changes only the fields sent, and a field sent as null is cleared; retiring is its
own operation, ``retireReward``, because it is not an edit: it takes the reward off the catalogue
for good (vouchers already issued stay valid), and retiring again answers the same.

One module per concern: ``outputs`` (the reward), ``inputs``, ``outcomes`` (with the service's
answers read into them), and the operations, ``catalogue``, ``redemption`` and ``management``.
``AREAS`` lists the modules that bring operations.
"""

from __future__ import annotations

from graphql_schema.rewards import catalogue, management, redemption

AREAS = (catalogue, redemption, management)
