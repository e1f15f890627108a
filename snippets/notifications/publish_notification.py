"""Title: Notify people through SNS
Description: Create-or-get a topic, subscribe an address once, publish a readable message.
Needs: conn
"""

from mlaccel import notify

topic_arn = notify.ensure_topic("mlaccel-alerts", email="ml-team@example.com", connection=conn)
notify.publish(topic_arn, "Model ready", {"model": "used-cars", "rmse": 1750.0}, connection=conn)
