"""Ports: what the app layer needs from the outside world, by concern.

``records`` (what the stores keep, their errors), ``store`` (the durable store's
narrow ports and ``Store``), ``live`` (the live state), ``clock``, ``tokens``.
Adapters implement these (``quizsession.adapters``); every adapter of a port
passes the same contract suite (``tests/contract``). Driver exceptions never cross
a port: adapters translate them into the errors of ``records``. This package
exports every name, so the app imports ``quizsession.app.ports``.
"""

from __future__ import annotations

from quizsession.api.accommodations import Accommodation as Accommodation
from quizsession.api.lti import LtiLaunchLink as LtiLaunchLink
from quizsession.api.lti import LtiPlatform as LtiPlatform
from quizsession.api.models import AttemptIndexRow as AttemptIndexRow
from quizsession.api.models import AttemptStatus as AttemptStatus
from quizsession.api.models import QuizSummary as QuizSummary
from quizsession.app.delivery.records import BacklogEntry as BacklogEntry
from quizsession.app.delivery.records import Claimed as Claimed
from quizsession.app.delivery.records import DeliveryCounts as DeliveryCounts
from quizsession.app.delivery.records import DeliveryRecord as DeliveryRecord
from quizsession.app.delivery.records import DeliveryResult as DeliveryResult
from quizsession.app.delivery.records import DeliveryStatus as DeliveryStatus
from quizsession.app.delivery.records import DestinationRecord as DestinationRecord
from quizsession.app.delivery.records import NewDelivery as NewDelivery
from quizsession.app.ports.clock import (
    Clock as Clock,
)
from quizsession.app.ports.live import (
    LeaseGrant as LeaseGrant,
)
from quizsession.app.ports.live import (
    LiveState as LiveState,
)
from quizsession.app.ports.live import (
    LiveStateUnavailable as LiveStateUnavailable,
)
from quizsession.app.ports.live import (
    Notice as Notice,
)
from quizsession.app.ports.live import (
    Subscription as Subscription,
)
from quizsession.app.ports.records import (
    Invite as Invite,
)
from quizsession.app.ports.records import (
    RecordedEvent as RecordedEvent,
)
from quizsession.app.ports.records import (
    StoreError as StoreError,
)
from quizsession.app.ports.records import (
    StoreMissing as StoreMissing,
)
from quizsession.app.ports.records import (
    StoreUnavailable as StoreUnavailable,
)
from quizsession.app.ports.records import (
    UnreadableData as UnreadableData,
)
from quizsession.app.ports.records import (
    VersionConflict as VersionConflict,
)
from quizsession.app.ports.store import (
    AccommodationStore as AccommodationStore,
)
from quizsession.app.ports.store import (
    AliveStore as AliveStore,
)
from quizsession.app.ports.store import (
    AttemptIndex as AttemptIndex,
)
from quizsession.app.ports.store import (
    AttemptRecords as AttemptRecords,
)
from quizsession.app.ports.store import (
    EventLog as EventLog,
)
from quizsession.app.ports.store import (
    InviteRepository as InviteRepository,
)
from quizsession.app.ports.store import (
    LeaseStore as LeaseStore,
)
from quizsession.app.ports.store import (
    LivenessRecords as LivenessRecords,
)
from quizsession.app.ports.store import (
    LtiStore as LtiStore,
)
from quizsession.app.ports.store import (
    OutboundRecords as OutboundRecords,
)
from quizsession.app.ports.store import (
    OutboundStore as OutboundStore,
)
from quizsession.app.ports.store import (
    QuizCatalog as QuizCatalog,
)
from quizsession.app.ports.store import (
    QuizRepository as QuizRepository,
)
from quizsession.app.ports.store import (
    Store as Store,
)
from quizsession.app.ports.store import (
    StoreLifecycle as StoreLifecycle,
)
from quizsession.app.ports.tokens import (
    SessionClaims as SessionClaims,
)
from quizsession.app.ports.tokens import (
    TokenCodec as TokenCodec,
)
from quizsession.app.ports.tokens import (
    TokenError as TokenError,
)
