"""Webhook notifications (JSON, Slack, Discord, Telegram) over httpx; they never stop trading.

Build a `Notifier` with `build_notifier(config.notify, os.environ)`, call
`notify_in_background` from the daemon, and `drain` at shutdown.
"""

from rebalancer.notify.channel import Channel
from rebalancer.notify.config import NotifyConfig, WebhookConfig
from rebalancer.notify.message import DEFAULT_SEVERITY, Notification, NotificationKind, Severity
from rebalancer.notify.notifier import Notifier, NotifierPort, NullNotifier, build_notifier
from rebalancer.notify.policy import DeliveryPolicy
from rebalancer.notify.resolve import NotifySecretError, resolve_channels

__all__ = [
    "DEFAULT_SEVERITY",
    "Channel",
    "DeliveryPolicy",
    "Notification",
    "NotificationKind",
    "Notifier",
    "NotifierPort",
    "NotifyConfig",
    "NotifySecretError",
    "NullNotifier",
    "Severity",
    "WebhookConfig",
    "build_notifier",
    "resolve_channels",
]
