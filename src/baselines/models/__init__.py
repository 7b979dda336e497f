"""LightningModules, one per problem type, on a thin shared base; network builders beside them."""
