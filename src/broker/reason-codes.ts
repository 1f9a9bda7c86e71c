// MQTT 5 reason codes the broker sends, and their MQTT 3.1.1 CONNACK return-code equivalents.
export const Reason = {
  Success: 0x00,
  GrantedQos1: 0x01,
  GrantedQos2: 0x02,
  DisconnectWithWill: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUsernameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  QuotaExceeded: 0x97,
  PayloadFormatInvalid: 0x99,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

export type ReasonCode = (typeof Reason)[keyof typeof Reason];

/** The v3.1/3.1.1 CONNACK return code closest to a v5 CONNACK reason code. */
export function v3ConnackCode(reason: number): number {
  switch (reason) {
    case Reason.Success:
      return 0;
    case Reason.UnsupportedProtocolVersion:
      return 1;
    case Reason.ClientIdentifierNotValid:
      return 2;
    case Reason.BadUsernameOrPassword:
      return 4;
    case Reason.NotAuthorized:
      return 5;
    default:
      return 3;
  }
}
