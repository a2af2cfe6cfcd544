// The contract between the lab machine images (docker/mail, docker/partner) and the code that runs
// them (server/docker/environments.ts and friends): what to pass to `docker create` so that the
// images behave as the labs expect, and no more privilege than that.
//
// Image tags are content hashes of docker/ and live in ./images.ts (imageTags()); everything else a
// container needs is here. The numbers were measured on the 2-core reference machine (Debian 12,
// docker.io 20.10, cgroup v1); see the comments next to them.
import type Dockerode from "dockerode";
import { PROBE_HOSTNAME, type EnvironmentMachine } from "@/lib/machines";

/**
 * Linux capabilities a lab container may need, by Docker's names (without the CAP_ prefix).
 * Every container starts from `CapDrop: ["ALL"]` and adds only its machine's `capAdd`.
 */
export type Capability =
  | "AUDIT_WRITE"
  | "CHOWN"
  | "DAC_OVERRIDE"
  | "FOWNER"
  | "FSETID"
  | "KILL"
  | "MKNOD"
  | "NET_BIND_SERVICE"
  | "NET_RAW"
  | "SETFCAP"
  | "SETGID"
  | "SETPCAP"
  | "SETUID"
  | "SYS_CHROOT";

/** Names of the environment variables the images read at start (set by the environment module). */
export const MACHINE_ENV = {
  /** `mail` | `partner` (the images also default it themselves). */
  machine: "MAILLAB_MACHINE",
  /** The environment's test domain, e.g. `k7q2.example.test`; mail's myhostname becomes `mail.<domain>`. */
  domain: "MAILLAB_DOMAIN",
  /** First local user on `mail` (login name: `^[a-z_][a-z0-9_-]{0,30}$`), e.g. `alice`. */
  user1: "MAILLAB_USER1",
  /** Password of user 1: printable, no `:` (chpasswd's format). A missing/invalid one is replaced by a random one, printed to the container log. */
  password1: "MAILLAB_PASSWORD1",
  /** Second local user on `mail`, e.g. `bob`. */
  user2: "MAILLAB_USER2",
  /** Password of user 2. */
  password2: "MAILLAB_PASSWORD2",
} as const;
export type MachineEnvName = (typeof MACHINE_ENV)[keyof typeof MACHINE_ENV];

/**
 * Exists (empty) once a container has finished its boot: on the first start the per-container
 * secrets are made (users with their passwords, snakeoil TLS key, myhostname), on every start the
 * enabled services run (syslog, Postfix, and Dovecot once the learner installed it). Removed at
 * the beginning of each start and on SIGTERM, so its presence always means "this run is ready".
 */
export const READY_FILE = "/run/maillab/ready";

/** Where the first start records that the per-container setup is done (kept across stop/start). */
export const FIRST_START_FILE = "/var/lib/maillab/first-start-done";

export interface MachineSpec {
  readonly machine: EnvironmentMachine;
  /** Image repository; the tag comes from imageTags() in ./images.ts. */
  readonly repository: string;
  /** Build context folder under docker/ (plus docker/common, shared by both). */
  readonly dockerDir: string;
  /** Container hostname: what the learner sees in the prompt (`root@mail:~#`). */
  readonly hostname: string;
  /**
   * Set Docker's `Domainname` to the environment's domain, so that `hostname -f` (and /etc/hosts)
   * say `mail.<domain>` like on a configured mail server. Postfix's myhostname does not depend on it.
   */
  readonly domainnameFromEnvironment: boolean;
  /**
   * The image's ENTRYPOINT is `tini -- maillab-init` (tini is PID 1 and reaps zombies). Do not set
   * Cmd/Entrypoint and do not use Docker's `Init: true` (that would put a second init in front).
   */
  readonly entrypoint: readonly string[];
  readonly init: false;
  /** Added after `CapDrop: ["ALL"]`; each one's reason is in MACHINE_SPECS below. */
  readonly capAdd: readonly Capability[];
  /** HostConfig.Memory and MemorySwap (same value: no swap). */
  readonly memoryBytes: number;
  /** HostConfig.PidsLimit: a fork bomb stops here. */
  readonly pidsLimit: number;
  /** HostConfig.NanoCpus: at most this share of the host's cores. */
  readonly nanoCpus: number;
  /** HostConfig.CpuShares: the weight against other containers when the host's cores are all busy. */
  readonly cpuShares: number;
  /** HostConfig.OomScoreAdj: under host memory pressure the kernel kills lab processes before the app. */
  readonly oomScoreAdj: number;
  /** HostConfig.SecurityOpt: none (see NO_NEW_PRIVILEGES_NOTE; Docker's default seccomp profile is fine). */
  readonly securityOpt: readonly string[];
  /** HostConfig.Sysctls (network-namespaced, allowed without privileges). */
  readonly sysctls: Readonly<Record<string, string>>;
  /** Seconds `docker stop` should wait: maillab-init stops Dovecot+Postfix (≤ 5 s), then syslog (≤ 2 s). */
  readonly stopTimeoutS: number;
  readonly readyFile: string;
}

/**
 * Why `no-new-privileges` is NOT set: it makes the kernel ignore setuid/setgid bits, and the lab
 * needs them for users other than root — `postdrop` (setgid postdrop: `mail`/`sendmail` run by a
 * learner as alice), `su` from a normal user, `passwd` (setuid root). The learner is root in the
 * container anyway, so the flag would protect nothing inside it; the container boundary (CapDrop
 * ALL + the few caps below, default seccomp, no privileged mode, no Docker socket) is what counts.
 */
export const NO_NEW_PRIVILEGES_NOTE =
  "no-new-privileges is not set: it disables the setgid/setuid bits that postdrop, su and passwd need; the learner is root inside anyway.";

/**
 * Why each capability of the mail machine is needed. Found by running the image with CapDrop ALL
 * plus this list minus one capability at a time, through: boot (users, key, Postfix), local
 * delivery (`mail` as root and as a user via setgid postdrop), `su`, `passwd`, `chpasswd`,
 * SMTP+STARTTLS from partner, `systemctl restart postfix|rsyslog|dovecot`, offline
 * `apt-get install dovecot-imapd dovecot-pop3d`, IMAP/POP3 login (PAM) from partner, imtest,
 * docker stop/start. images.test.ts runs the same paths with the full list.
 */
const MAIL_CAPS = {
  // chpasswd/passwd write /etc/shadow as root:shadow; dpkg and Postfix (set-permissions, queue
  // files) hand files to postfix/dovecot users. Without it: "Authentication token manipulation error".
  CHOWN: "chown files to other users (shadow, postfix queue, dpkg)",
  // Root must enter directories owned by others with mode 0700: Postfix's queue (postfix:root
  // 0700: without it smtpd cannot reach private/proxymap and SMTP from partner hangs), the
  // learners' mailboxes, Dovecot's directories.
  DAC_OVERRIDE: "root reads/writes others' 0700 dirs (postfix queue, mailboxes)",
  // chmod/utime on files root does not own: useradd fixing the new home (else it stays root's and
  // Dovecot cannot create ~/mail), dpkg unpacking into package-owned directories.
  FOWNER: "chmod/utime on files owned by others (useradd homes, dpkg)",
  // Postfix/Dovecot daemons and su/passwd drop to other users and groups (without them Postfix
  // does not start: "fatal: set_eugid: setegid(102): Operation not permitted").
  SETGID: "drop to other groups (postfix, dovecot, su)",
  SETUID: "drop to other users (postfix, dovecot, su, local delivery as the recipient)",
  // Postfix (Debian's master.cf: smtpd, cleanup, tlsmgr, …) and Dovecot's login processes chroot
  // ("fatal: chroot(/var/spool/postfix): Operation not permitted").
  SYS_CHROOT: "chroot of Postfix services and Dovecot login processes",
  // Root signals processes of other users. Without it `systemctl restart postfix` leaves the old
  // smtpd (user postfix) serving a connected client with the old configuration, and a learner's
  // `kill`/`pkill` of postfix, dovecot or imap processes fails with "Operation not permitted".
  KILL: "signal processes of other users (postfix stop reaching its children, kill/pkill)",
  // Binding port 25 (and 110/143): Docker >= 20.10 sets net.ipv4.ip_unprivileged_port_start=0 in
  // each container, so this one is not needed on the reference engine; kept because it is harmless
  // and needed on older or differently configured engines.
  NET_BIND_SERVICE: "bind ports < 1024 on engines without ip_unprivileged_port_start=0",
} as const satisfies Partial<Record<Capability, string>>;

/**
 * Not added, and why: AUDIT_WRITE (su/login only warn), NET_RAW (ping uses unprivileged ICMP
 * sockets: the images ship ping without file caps, see the sysctl), MKNOD, SETFCAP, SETPCAP,
 * FSETID (no package in the labs installs setid or file-cap binaries).
 */
export const CAPABILITY_REASONS: Readonly<Record<EnvironmentMachine, Readonly<Partial<Record<Capability, string>>>>> = {
  mail: MAIL_CAPS,
  // The partner runs no daemons and has no other users: swaks, curl, imtest, nc, telnet, ping,
  // openssl and mutt as root need no capability at all.
  partner: {},
  // The probe only opens client connections (nc, openssl s_client, perl).
  probe: {},
};

const MiB = 1024 * 1024;

export const MACHINE_SPECS: Readonly<Record<EnvironmentMachine, MachineSpec>> = {
  mail: {
    machine: "mail",
    repository: "maillab/mail",
    dockerDir: "mail",
    hostname: "mail",
    domainnameFromEnvironment: true,
    entrypoint: ["/usr/bin/tini", "--", "/usr/local/sbin/maillab-init"],
    init: false,
    capAdd: Object.keys(MAIL_CAPS) as Capability[],
    // Measured idle (cgroup v1 memory.usage): ~7 MiB, of which 3 MiB anonymous (tini, bash, sleep,
    // rsyslogd, Postfix master+qmgr+pickup), 2 MiB page cache, 2 MiB kernel; ~9 MiB once Dovecot
    // runs. The peak is the learner's `apt install dovecot-*` (apt's cache, dpkg, ucf): 130 MiB,
    // mostly reclaimable page cache. 256 MiB leaves room for Dovecot and a few smtpd/imap processes.
    memoryBytes: 256 * MiB,
    // Postfix may run up to default_process_limit=100 smtpd; Dovecot a few login/imap processes.
    pidsLimit: 256,
    // One core at most: apt/dpkg is the only CPU-heavy thing a learner does here.
    nanoCpus: 1_000_000_000,
    cpuShares: 1024, // Docker's default
    oomScoreAdj: 500,
    securityOpt: [],
    sysctls: { "net.ipv4.ping_group_range": "0 2147483647" },
    stopTimeoutS: 8,
    readyFile: READY_FILE,
  },
  partner: {
    machine: "partner",
    repository: "maillab/partner",
    dockerDir: "partner",
    hostname: "partner",
    domainnameFromEnvironment: false,
    entrypoint: ["/usr/bin/tini", "--", "/usr/local/sbin/maillab-init"],
    init: false,
    // The authenticated-header check runs a one-shot SMTP receiver on partner:25; Docker >= 20.10
    // allows that without the capability, older engines do not.
    capAdd: ["NET_BIND_SERVICE"],
    // Measured idle: ~1.1 MiB (tini, bash, sleep). Busy: swaks (perl) or mutt, tens of MiB.
    memoryBytes: 128 * MiB,
    pidsLimit: 128,
    nanoCpus: 1_000_000_000,
    cpuShares: 1024,
    oomScoreAdj: 500,
    securityOpt: [],
    // `ping mail` without CAP_NET_RAW (Docker >= 20.10 sets this by default; explicit for others).
    sysctls: { "net.ipv4.ping_group_range": "0 2147483647" },
    stopTimeoutS: 3,
    readyFile: READY_FILE,
  },
  // The checks' machine (lib/machines.ts PROBE_MACHINE): partner's image (nc, openssl, perl: the same
  // client tools, and no extra image to build or store), its own name, no terminal, no capability.
  probe: {
    machine: "probe",
    repository: "maillab/partner",
    dockerDir: "partner",
    hostname: PROBE_HOSTNAME,
    domainnameFromEnvironment: false,
    entrypoint: ["/usr/bin/tini", "--", "/usr/local/sbin/maillab-init"],
    init: false,
    capAdd: [],
    // Idle ~1 MiB (tini, bash, sleep) plus the check dispatcher; a check run peaks at a few MiB
    // (openssl, perl).
    memoryBytes: 64 * MiB,
    pidsLimit: 64,
    // Checks are short bursts, but TLS handshakes are CPU (perl + RSA: ~140 ms of CPU each, two or
    // three side by side): half a core made the IMAP/POP3 checks take 350-700 ms instead of ~150.
    // Scripts are killed at their timeout, so a runaway cannot hold the core for long.
    nanoCpus: 1_000_000_000,
    // Checks first when a class saturates the host (30 learners' `apt install` at once): the probe
    // runs only the checks' short client sessions (~7 % of the CPU in `npm run bench -- loop`), and
    // with the default weight each of their many wake-ups waited behind every busy container.
    cpuShares: 8192,
    oomScoreAdj: 500,
    securityOpt: [],
    sysctls: {},
    stopTimeoutS: 1,
    readyFile: READY_FILE,
  },
};

/** The env contract as `KEY=value` strings for Docker's `Env`. */
export function machineEnv(
  machine: EnvironmentMachine,
  params: { domain: string; users: ReadonlyArray<{ name: string; password: string }> },
): string[] {
  const [user1, user2] = params.users;
  return [
    `${MACHINE_ENV.machine}=${machine}`,
    `${MACHINE_ENV.domain}=${params.domain}`,
    `${MACHINE_ENV.user1}=${user1?.name ?? ""}`,
    `${MACHINE_ENV.password1}=${user1?.password ?? ""}`,
    `${MACHINE_ENV.user2}=${user2?.name ?? ""}`,
    `${MACHINE_ENV.password2}=${user2?.password ?? ""}`,
  ];
}

/**
 * The HostConfig part that the spec decides (limits, capabilities, security); the caller adds
 * NetworkMode, log config, restart policy etc.
 */
export function machineHostConfig(machine: EnvironmentMachine): Dockerode.HostConfig {
  const spec = MACHINE_SPECS[machine];
  return {
    Init: spec.init,
    Privileged: false,
    CapDrop: ["ALL"],
    CapAdd: [...spec.capAdd],
    Memory: spec.memoryBytes,
    MemorySwap: spec.memoryBytes,
    PidsLimit: spec.pidsLimit,
    NanoCpus: spec.nanoCpus,
    CpuShares: spec.cpuShares,
    OomScoreAdj: spec.oomScoreAdj,
    SecurityOpt: [...spec.securityOpt],
    Sysctls: { ...spec.sysctls },
  };
}
