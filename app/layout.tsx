import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";
import { pageLang } from "@/server/pages/request";

export const metadata: Metadata = {
  title: "maillab",
  description: "Mailserver-Administration lernen: Postfix und Dovecot auf echten Maschinen im Browser.",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  const lang = await pageLang();
  return (
    <html lang={lang}>
      <body>{children}</body>
    </html>
  );
}
