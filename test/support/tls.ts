import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";

/** A self-signed certificate for https://127.0.0.1, made at test start, with its PEM on disk. */
export interface LoopbackCertificate {
  cert: string;
  key: string;
  /** File holding `cert`; give it to client processes as NODE_EXTRA_CA_CERTS. */
  caFile: string;
  dispose(): Promise<void>;
}

export async function createLoopbackCertificate(): Promise<LoopbackCertificate> {
  const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    keySize: 2048,
    notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
        ],
      },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), "kms-audit-tls-"));
  const caFile = join(dir, "loopback-ca.pem");
  await writeFile(caFile, pems.cert);
  return {
    cert: pems.cert,
    key: pems.private,
    caFile,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
