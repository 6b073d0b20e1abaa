from virtio_notifier_spec.cli.entry import main

main()
