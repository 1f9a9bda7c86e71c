// Counters behind $SYS/broker/... and the benchmark: cheap increments on the hot path.
export class BrokerStats {
  readonly startedAt = Date.now();
  messagesReceived = 0;
  messagesSent = 0;
  messagesDropped = 0;
  bytesReceived = 0;
  bytesSent = 0;
  connectionsAccepted = 0;
  connectionsRefused = 0;
  protocolErrors = 0;
  /** Exceptions in packet handling: bugs, counted so tests (the fuzz test) can insist on none. */
  internalErrors = 0;
  publishDenied = 0;
  /** Messages in (published into the broker) and out (sent to clients), by QoS 0/1/2: for /metrics. */
  readonly receivedByQos: [number, number, number] = [0, 0, 0];
  readonly sentByQos: [number, number, number] = [0, 0, 0];
  /** Client QoS 1/2 publishes not acknowledged because a durable destination did not store them. */
  publishNotStored = 0;
}
