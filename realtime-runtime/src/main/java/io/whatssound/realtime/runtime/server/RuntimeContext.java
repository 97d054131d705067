package io.whatssound.realtime.runtime.server;

import io.whatssound.realtime.runtime.auth.ChannelAuthorizer;
import io.whatssound.realtime.runtime.auth.JwtVerifier;
import io.whatssound.realtime.runtime.cdc.PostgresChanges;
import io.whatssound.realtime.runtime.channel.Broadcaster;
import io.whatssound.realtime.runtime.channel.Ids;
import io.whatssound.realtime.runtime.channel.TopicRegistry;
import io.whatssound.realtime.runtime.config.RuntimeConfig;
import io.whatssound.realtime.runtime.limits.TenantLimiter;
import io.whatssound.realtime.runtime.metrics.RuntimeMetrics;
import java.time.Clock;
import java.util.Optional;

/** The services every connection shares, built once by {@link RealtimeServer}. */
record RuntimeContext(
    RuntimeConfig config,
    Clock clock,
    JwtVerifier verifier,
    ChannelAuthorizer authorizer,
    TopicRegistry topics,
    Broadcaster broadcaster,
    TenantLimiter limiter,
    RuntimeMetrics metrics,
    Ids ids,
    Optional<PostgresChanges> postgres) {}
