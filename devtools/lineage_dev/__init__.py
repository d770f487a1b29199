"""Development tools of sagemaker-lineage-collector; not part of the product's wheel or image.

sim: a simulated AWS account (a moto server with SageMaker pipeline extensions) for tests and the demo.
demo: `lineage-collector demo` and the SDK-made pipeline definitions it seeds.
local_neo4j: a throwaway local Neo4j 5 from Maven Central jars (`lineage-collector dev neo4j`, the tests).
"""
