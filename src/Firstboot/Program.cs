// Entry point of `appliance-firstboot`; the first-boot state machine arrives with its issue.
using System.CommandLine;

var root = new RootCommand("appliance-firstboot: journaled first boot and A/B upgrades on the device");
return root.Parse(args).Invoke();
