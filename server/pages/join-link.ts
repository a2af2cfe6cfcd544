import { headers } from "next/headers";
import QRCode from "qrcode";
import { getContext } from "../context";

/** The join link of a class as learners must type it (MAILLAB_PUBLIC_URL, else this request's host) and its QR code. */
export async function joinLink(code: string): Promise<{ url: string; qrSvg: string }> {
  const { config } = getContext();
  const host = (await headers()).get("host") ?? "localhost";
  const url = `${(config.publicUrl ?? `http://${host}`).replace(/\/$/, "")}/join/${code}`;
  // No fixed size: the page scales the SVG (a small one on the dashboard, a large one for the projector).
  const qrSvg = await QRCode.toString(url, { type: "svg", margin: 1, errorCorrectionLevel: "M" });
  return { url, qrSvg };
}
