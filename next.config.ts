import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Native and Docker-talking modules stay plain Node requires, never bundled.
  serverExternalPackages: ["dockerode", "better-sqlite3", "node-pty", "ssh2", "cpu-features"],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
