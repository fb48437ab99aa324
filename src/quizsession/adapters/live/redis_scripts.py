"""The Lua scripts of the Redis live state: each lease and session-record
operation is one script, so each is atomic on the server (a heartbeat's lease
renewal and activity record are one script too: one round trip)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


def _touch_if_given(key: int) -> str:
    """Lua: when KEYS[key] (a session key) is given, record the session's
    activity there as ``TOUCH_LUA`` does (ARGV[4] ttl ms, ARGV[5] retention ms):
    a heartbeat's lease and activity in one round trip."""
    return f"""
  if KEYS[{key}] then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local ttl = tonumber(ARGV[4])
    redis.call('SET', KEYS[{key}], string.format('%d', now + ttl), 'PX', ttl + tonumber(ARGV[5]))
  end"""


# KEYS[1] lease key, KEYS[2] (optional) the session's activity key; ARGV: session
# id, ttl ms, force ("1"/"0"), and with KEYS[2] activity ttl ms, retention ms.
# Returns {1, holder, ttl_ms} when acquired (and the activity recorded), else
# {0, holder, remaining_ms}.
ACQUIRE_LUA = f"""
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] or ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]){_touch_if_given(2)}
  return {{1, ARGV[1], tonumber(ARGV[2])}}
end
return {{0, cur, redis.call('PTTL', KEYS[1])}}
"""

# The same with KEYS[2] the generation key (the activity key is KEYS[3]): returns
# {acquired, holder, ttl_ms, renewal (1 when ARGV[1] held it already),
# generation or false}.
ACQUIRE_CHECKED_LUA = f"""
local cur = redis.call('GET', KEYS[1])
local gen = redis.call('GET', KEYS[2])
local renewal = 0
if cur == ARGV[1] then
  renewal = 1
end
if (not cur) or cur == ARGV[1] or ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]){_touch_if_given(3)}
  return {{1, ARGV[1], tonumber(ARGV[2]), renewal, gen}}
end
return {{0, cur, redis.call('PTTL', KEYS[1]), renewal, gen}}
"""

RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Returns {} when free, else {holder, remaining_ms}.
HOLDER_LUA = """
local cur = redis.call('GET', KEYS[1])
if not cur then
  return {}
end
return {cur, redis.call('PTTL', KEYS[1])}
"""

NOW_MS_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1] session key; ARGV: ttl ms, retention ms.
TOUCH_LUA = (
    NOW_MS_LUA
    + """
local ttl = tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', now + ttl), 'PX', ttl + tonumber(ARGV[2]))
return 1
"""
)

# Returns -1 (no record), 1 (active) or 0 (lapsed).
SEEN_LUA = (
    NOW_MS_LUA
    + """
local v = redis.call('GET', KEYS[1])
if not v then
  return -1
end
if tonumber(v) > now then
  return 1
end
return 0
"""
)


@dataclass(frozen=True, slots=True)
class Scripts:
    acquire: AsyncScript
    acquire_checked: AsyncScript
    release: AsyncScript
    holder: AsyncScript
    touch: AsyncScript
    seen: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> Scripts:
        return cls(
            acquire=client.register_script(ACQUIRE_LUA),
            acquire_checked=client.register_script(ACQUIRE_CHECKED_LUA),
            release=client.register_script(RELEASE_LUA),
            holder=client.register_script(HOLDER_LUA),
            touch=client.register_script(TOUCH_LUA),
            seen=client.register_script(SEEN_LUA),
        )
