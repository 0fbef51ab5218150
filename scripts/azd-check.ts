/**
 * The Azure Developer CLI's view of the project, checked by npm run check:infra (and by
 * test/azure-yaml.test.ts): azure.yaml is valid against azd's published schema (the vendored
 * excerpt in infra/schemas), names the service the Bicep tags, deploys the folder npm run package
 * writes, and infra/main.parameters.json binds what azd provides to the template's parameters.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Ajv2019 } from "ajv/dist/2019.js";
import { parseDocument } from "yaml";

/** The folder `npm run package` writes and azure.yaml's `dist` must name. */
export const PACKAGE_DIST = "artifacts/functionapp";
/** The service name azd matches against the Function App's azd-service-name tag. */
export const SERVICE_NAME = "api";

interface AzureYaml {
  name?: unknown;
  infra?: { path?: unknown; module?: unknown };
  services?: Record<string, { host?: unknown; language?: unknown; dist?: unknown }>;
}

/** Problems of an azure.yaml text against the schema, as one line each (empty: valid). */
export async function validateAzureYaml(root: string, text: string): Promise<string[]> {
  const document = parseDocument(text, { prettyErrors: false });
  if (document.errors.length > 0) {
    return document.errors.map((e) => `azure.yaml: not valid YAML: ${e.message}`);
  }
  const schema = JSON.parse(
    await readFile(join(root, "infra", "schemas", "azure.yaml.json"), "utf8"),
  ) as Record<string, unknown>;
  // strict: false — the schema uses annotation keywords Ajv does not know ("comment").
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);
  const value: unknown = document.toJS();
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (e) => `azure.yaml${e.instancePath || ""}: ${e.message ?? "invalid"} (schema ${e.schemaPath})`,
  );
}

/**
 * Everything azd needs from the project: azure.yaml valid and consistent with the Bicep and
 * the package script; main.parameters.json binding AZURE_ENV_NAME and AZURE_LOCATION and naming
 * only parameters main.bicep declares, and every parameter without a default.
 */
export async function checkAzd(
  root: string,
  main: { parameters?: Record<string, { defaultValue?: unknown }> } | undefined,
): Promise<string[]> {
  const text = await readFile(join(root, "azure.yaml"), "utf8");
  const problems = await validateAzureYaml(root, text);
  if (problems.length > 0) return problems;
  const config = parseDocument(text).toJS() as AzureYaml;
  const service = config.services?.[SERVICE_NAME];
  if (!service) {
    problems.push(`azure.yaml: no service "${SERVICE_NAME}" (the Function App's azd-service-name)`);
  } else {
    if (service.host !== "function")
      problems.push("azure.yaml: services.api.host must be function");
    if (service.language !== "js") problems.push("azure.yaml: services.api.language must be js");
    if (service.dist !== PACKAGE_DIST) {
      problems.push(`azure.yaml: services.api.dist must be ${PACKAGE_DIST} (npm run package)`);
    }
  }
  if ((config.infra?.path ?? "infra") !== "infra" || (config.infra?.module ?? "main") !== "main") {
    problems.push("azure.yaml: infra must be infra/main.bicep");
  }
  if (main && !JSON.stringify(main).includes(`'azd-service-name', '${SERVICE_NAME}'`)) {
    problems.push(`compiled main.json: no resource tagged azd-service-name=${SERVICE_NAME}`);
  }

  const parametersFile = JSON.parse(
    await readFile(join(root, "infra", "main.parameters.json"), "utf8"),
  ) as { parameters?: Record<string, { value?: unknown }> };
  const bound = parametersFile.parameters ?? {};
  for (const [name, variable] of [
    ["environmentName", "AZURE_ENV_NAME"],
    ["location", "AZURE_LOCATION"],
  ] as const) {
    if (bound[name]?.value !== `\${${variable}}`) {
      problems.push(`infra/main.parameters.json: ${name} must be "\${${variable}}"`);
    }
  }
  if (main?.parameters) {
    for (const name of Object.keys(bound)) {
      if (!(name in main.parameters)) {
        problems.push(`infra/main.parameters.json: ${name} is not a parameter of main.bicep`);
      }
    }
    for (const [name, parameter] of Object.entries(main.parameters)) {
      if (!("defaultValue" in parameter) && !(name in bound)) {
        problems.push(`infra/main.parameters.json: main.bicep's required ${name} is not bound`);
      }
    }
  }
  return problems;
}
