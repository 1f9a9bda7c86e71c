// The systemd unit of an installed gateway: a dedicated user, a read-only system around it, its own
// config and state folders, restarted when it fails or stalls (Type=notify with a watchdog).
import type { GatewayConfig } from '../config/types.js';

export const UNIT_NAME = 'tagwire.service';
/** The unit's StateDirectory and ConfigurationDirectory name, below /var/lib and /etc. */
export const DIRECTORY_NAME = 'tagwire';
/** Seconds without a watchdog ping before systemd restarts the gateway (pings every half of it). */
export const WATCHDOG_SEC = 30;
/** Open files for 10,000 MQTT clients plus devices, bridges, databases and headroom. */
export const LIMIT_NOFILE = 65536;

export interface UnitOptions {
  user: string;
  /** Absolute path of the Node binary. */
  node: string;
  /** Absolute path of the compiled CLI (dist/src/cli.js). */
  cli: string;
  /** Absolute path of the config file the service runs. */
  config: string;
  /** Where the service keeps its data (the StateDirectory). */
  dataDir: string;
  /** Whether a configured port is below 1024: only then may it bind one. */
  privilegedPort: boolean;
}

/** TCP ports the config listens on: broker listeners and the HTTP API. */
export function listenPorts(config: GatewayConfig): number[] {
  return [...config.broker.listeners.map((l) => l.port), config.http.port];
}

/** Quotes one ExecStart argument when it needs it (systemd's C-style quoting). */
function quoteArg(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function renderUnit(o: UnitOptions): string {
  const capabilities = o.privilegedPort
    ? ['CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'AmbientCapabilities=CAP_NET_BIND_SERVICE']
    : ['CapabilityBoundingSet='];
  const exec = [o.node, o.cli, 'start', '-c', o.config].map(quoteArg).join(' ');
  return [
    '# Written by `tagwire service install`; `tagwire service uninstall` removes it.',
    '[Unit]',
    'Description=tagwire industrial IoT edge gateway',
    'Documentation=man:systemd.service(5)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    // The gateway says READY=1 once it serves, and WATCHDOG=1 from its event loop; the messages
    // come from a systemd-notify child process, hence NotifyAccess=all.
    'Type=notify',
    'NotifyAccess=all',
    `WatchdogSec=${WATCHDOG_SEC}`,
    // Making the OPC UA certificate on a first start takes a while on a small PC.
    'TimeoutStartSec=180',
    'TimeoutStopSec=30',
    `ExecStart=${exec}`,
    'Restart=on-failure',
    'RestartSec=2',
    `User=${o.user}`,
    `Group=${o.user}`,
    'SupplementaryGroups=dialout',
    `StateDirectory=${DIRECTORY_NAME}`,
    'StateDirectoryMode=0750',
    `ConfigurationDirectory=${DIRECTORY_NAME}`,
    // Owned by root (systemd never gives it to User=): the service reads, root edits; the config file
    // itself is root:<user> 0640 (it holds password hashes).
    'ConfigurationDirectoryMode=0755',
    `WorkingDirectory=${o.dataDir}`,
    `Environment=TAGWIRE_DATA_DIR=${o.dataDir}`,
    'Environment=NODE_ENV=production',
    `LimitNOFILE=${LIMIT_NOFILE}`,
    'UMask=0027',
    'ProtectSystem=strict',
    'ProtectHome=true',
    'PrivateTmp=true',
    'NoNewPrivileges=true',
    'ProtectKernelTunables=true',
    'ProtectKernelModules=true',
    'ProtectKernelLogs=true',
    'ProtectControlGroups=true',
    'ProtectClock=true',
    'ProtectHostname=true',
    'RestrictSUIDSGID=true',
    'RestrictRealtime=true',
    'RestrictNamespaces=true',
    'LockPersonality=true',
    // AF_NETLINK: Node lists network interfaces through it.
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    ...capabilities,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
