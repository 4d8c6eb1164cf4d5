"""The bell in the portal header: the unread count of the seller being viewed.

On a seller's portal page that is the seller of the URL (the view put it on the request
when it checked the login may open it); elsewhere, the first seller linked to a seller
login. Nothing for anyone else, so other pages pay no query.
"""

from django.http import HttpRequest

from sellers.selectors import seller_for_portal_user, unread_notification_count


def notification_bell(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    seller = getattr(request, "portal_seller", None)
    if seller is None:
        if user.is_superuser or not user.has_perm("accounts.use_portal"):
            return {}
        seller = seller_for_portal_user(user)
        if seller is None:
            return {}
    return {"bell": {"seller": seller, "unread": unread_notification_count(seller)}}
