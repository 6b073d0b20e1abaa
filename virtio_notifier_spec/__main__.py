from virtio_notifier_spec.cli.main import main

main()
