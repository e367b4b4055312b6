/** The campaign use cases' ports (libs/operations CampaignPorts), built from this service's connections. */
export const CAMPAIGN_PORTS = Symbol('CampaignPorts');
