"""The device-side door: an MQTT 3.1.1 and 5 broker over mutual TLS.

The broker knows TLS and MQTT only. Who may connect, what a client may do and what the reserved ``$aws/``
topics answer are decided by a :class:`~mock_iotprov.mqtt.hooks.BrokerHooks` object it is given.
"""
