import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface TestCertificate {
  /** PEM certificate; give it to in-process clients as their trusted CA (tlsOptions.ca). */
  cert: string;
  key: string;
}

let cached: Promise<TestCertificate> | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost, made once per process. */
export function testCertificate(): Promise<TestCertificate> {
  cached ??= generate([{ name: "commonName", value: "127.0.0.1" }], {
    keySize: 2048,
    algorithm: "sha256",
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
  }).then((pems) => ({ cert: pems.cert, key: pems.private }));
  return cached;
}

/** The test certificate with its PEM on disk, for client processes. */
export interface LoopbackCertificate extends TestCertificate {
  /** File holding `cert`; give it to client processes as NODE_EXTRA_CA_CERTS. */
  caFile: string;
  dispose(): Promise<void>;
}

export async function createLoopbackCertificate(): Promise<LoopbackCertificate> {
  const certificate = await testCertificate();
  const dir = await mkdtemp(join(tmpdir(), "kms-audit-tls-"));
  const caFile = join(dir, "loopback-ca.pem");
  await writeFile(caFile, certificate.cert);
  return { ...certificate, caFile, dispose: () => rm(dir, { recursive: true, force: true }) };
}
