"""Notifications, a platform app: the personal in-app inbox, reminder preferences, the
email outbox, and reminder scheduling for any module.

Sending a notice: register its kind (``registry.register_kind``) at start-up, then call
``services.notify(recipient=…, kind=…, title=…, key=…)``; ``key`` names the event and is
unique per recipient, so the same event never makes two notices.

Making a model remind (as activities does for follow-ups and tasks, see
kehu.activities.reminders); sales, contracts and the rest follow the same steps:

1. Inherit ``models.Reminding`` (``remind_minutes_before``, ``remind_at``, ``reminded_at``)
   and implement ``due_time()`` (the moment reminded of, or ``None``).
2. Call ``schedule_reminder()`` in every service that sets the due time or the lead,
   before saving: it stores ``remind_at`` and re-arms a fired reminder whose time moved.
   The default lead is ``services.reminder_settings(user).default_lead_minutes``.
3. Give the model a partial index on ``remind_at`` where ``reminded_at IS NULL``, so the
   job finds due reminders cheaply::

       models.Index(fields=["remind_at"], condition=Q(reminded_at__isnull=True), name=…)

4. In the app's ``registrations.py``, register its notice kind and a
   ``registry.ReminderSource``: ``rows()`` (the rows that may still remind, e.g. open
   ones), ``recipients(row)`` and ``notice(row, recipient)`` (a ``ReminderNotice``,
   built in the recipient's language; its key includes the due time).

The periodic job (kehu.notifications.tasks, every minute) fires every registered source:
each reminder is claimed by a conditional update in the same transaction as its notices,
so it fires once across workers, retries and crashes (see kehu.notifications.services).
"""
