package io.whatssound.realtime.runtime.protocol;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One message from a client. A binary user broadcast (kind 3) arrives with event {@code broadcast},
 * no {@code payload} object and a decoded {@link UserBroadcast}.
 */
public record InboundMessage(
    String joinRef, String ref, String topic, String event, ObjectNode payload, UserBroadcast broadcast) {}
