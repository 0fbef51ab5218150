export {
  createResourceGraphSource,
  MAX_PAGE_SIZE,
  MAX_SUBSCRIPTIONS_PER_REQUEST,
  SUBSCRIPTION_LIMIT_HIT_HEADER,
  type ResourceGraphSourceOptions,
  type RetryOptions,
} from "./resource-graph-source.js";
export { cloudEndpoints, type CloudEndpoints } from "../../azure/clouds.js";
export { RESOURCES_QUERY, SUBSCRIPTIONS_QUERY, RESOURCE_TABLE_TYPES } from "./queries.js";
