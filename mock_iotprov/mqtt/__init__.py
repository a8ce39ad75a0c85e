"""The device-side door: an MQTT 3.1.1 and 5 broker over mutual TLS.

The broker knows TLS and MQTT only. Who may connect, what a client may do and what the reserved ``$aws/``
topics answer are decided by a :class:`~mock_iotprov.mqtt.hooks.BrokerHooks` object it is given.

Modules, one job each: :mod:`.wire`, :mod:`.properties`, :mod:`.packets` and :mod:`.codec` (the pure MQTT
3.1.1/5 codec), :mod:`.topics` (topic rules, matching, the subscription index), :mod:`.tls` (mutual TLS
that leaves authentication to CONNECT), :mod:`.session`, :mod:`.retained`, :mod:`.core` and
:mod:`.connection` (protocol behaviour), :mod:`.limits` (AWS IoT Core's limits and its differences from
the MQTT specifications) and :mod:`.broker` (:class:`~.broker.MqttBroker`, the lifecycle API).
"""
