/*
 * The guest: a multiboot kernel with no operating system that does the
 * port and memory accesses the host asks for over COM1.
 *
 * Built with `as --32` and `ld -m elf_i386 -Ttext 0x100000` (qemu/guest.py),
 * booted with `-bios qboot.rom -kernel guest.elf`. It starts in 32-bit flat
 * protected mode, loads its own GDT and IDT, routes the UART's receive
 * interrupt (IRQ 4) through the 8259 and the local APIC's LINT0, prints its
 * banner and then serves commands for ever, sleeping in `hlt` between bytes
 * (a guest that spins on the line status register would keep a host core
 * busy and contend for QEMU's big lock with the main loop that runs the
 * ioeventfd handlers under test).
 *
 * A command is 10 bytes: op, size (1, 2 or 4), address (le32), value (le32).
 *   'O' out size port value       'I' in size port
 *   'W' write size address value  'R' read size address
 *   'P' ping (answers the value)
 * Each is answered with 5 bytes: 'k' and the value read (le32; 0 for a
 * write), or 'e' and the command's first 4 bytes for an unknown one.
 */

        .set MB_MAGIC, 0x1BADB002
        .set MB_FLAGS, 0x00010000          /* the address fields below are valid */
        .set COM1, 0x3f8
        .set LAPIC, 0xfee00000

        .code32
        .section .text
        .globl _start
_start:
        jmp entry

        .align 4
mb_header:
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
        .long mb_header, _start, _edata, _end, entry

entry:
        cli
        lgdt gdt_desc
        ljmp $0x08, $reload
reload:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %ax, %fs
        mov %ax, %gs
        mov $stack_top, %esp

        /* IDT: every vector points at one stub that acknowledges the PICs. */
        mov $idt, %edi
        mov $256, %ecx
1:      mov $irq_stub, %eax
        mov %ax, (%edi)
        movw $0x08, 2(%edi)
        movw $0x8e00, 4(%edi)
        shr $16, %eax
        mov %ax, 6(%edi)
        add $8, %edi
        loop 1b
        lidt idt_desc

        /* 8259s: vectors 0x20-0x2f, only IRQ 4 (COM1) unmasked. */
        mov $0x11, %al
        out %al, $0x20
        out %al, $0xa0
        mov $0x20, %al
        out %al, $0x21
        mov $0x28, %al
        out %al, $0xa1
        mov $0x04, %al
        out %al, $0x21
        mov $0x02, %al
        out %al, $0xa1
        mov $0x01, %al
        out %al, $0x21
        out %al, $0xa1
        mov $0xef, %al
        out %al, $0x21
        mov $0xff, %al
        out %al, $0xa1

        /* Local APIC: software enabled, LINT0 delivers the 8259's interrupts (ExtINT). */
        movl $0x1ff, LAPIC + 0xf0
        movl $0x700, LAPIC + 0x350

        /* COM1: 115200 8N1, FIFO with a one-byte trigger, interrupt on received data. */
        mov $COM1 + 1, %dx
        mov $0x00, %al
        out %al, %dx
        mov $COM1 + 3, %dx
        mov $0x80, %al
        out %al, %dx
        mov $COM1, %dx
        mov $0x01, %al
        out %al, %dx
        mov $COM1 + 1, %dx
        mov $0x00, %al
        out %al, %dx
        mov $COM1 + 3, %dx
        mov $0x03, %al
        out %al, %dx
        mov $COM1 + 2, %dx
        mov $0x07, %al
        out %al, %dx
        mov $COM1 + 4, %dx
        mov $0x0b, %al
        out %al, %dx
        mov $COM1 + 1, %dx
        mov $0x01, %al
        out %al, %dx

        mov $banner, %esi
        mov $banner_end - banner, %ecx
2:      lodsb
        call putc
        loop 2b

serve:
        mov $cmd, %edi
        mov $10, %ecx
3:      call getc
        stosb
        loop 3b

        movzbl cmd + 1, %ecx               /* size */
        mov cmd + 2, %edx                  /* port or address */
        mov cmd + 6, %eax                  /* value */
        movzbl cmd, %ebx                   /* op */
        cmp $'O', %bl
        je do_out
        cmp $'I', %bl
        je do_in
        cmp $'W', %bl
        je do_write
        cmp $'R', %bl
        je do_read
        cmp $'P', %bl
        je reply
        mov $'e', %al
        call putc
        mov cmd, %eax
        jmp send_value

do_out:
        cmp $1, %cl
        je 4f
        cmp $2, %cl
        je 5f
        out %eax, %dx
        jmp done
4:      out %al, %dx
        jmp done
5:      out %ax, %dx
        jmp done

do_in:
        xor %eax, %eax
        cmp $1, %cl
        je 4f
        cmp $2, %cl
        je 5f
        in %dx, %eax
        jmp reply
4:      in %dx, %al
        jmp reply
5:      in %dx, %ax
        jmp reply

do_write:
        cmp $1, %cl
        je 4f
        cmp $2, %cl
        je 5f
        mov %eax, (%edx)
        jmp done
4:      mov %al, (%edx)
        jmp done
5:      mov %ax, (%edx)
        jmp done

do_read:
        cmp $1, %cl
        je 4f
        cmp $2, %cl
        je 5f
        mov (%edx), %eax
        jmp reply
4:      movzbl (%edx), %eax
        jmp reply
5:      movzwl (%edx), %eax
        jmp reply

done:
        xor %eax, %eax
reply:
        push %eax
        mov $'k', %al
        call putc
        pop %eax
send_value:
        mov $4, %ecx
6:      call putc
        shr $8, %eax
        loop 6b
        jmp serve

/* getc: the next byte from COM1 in %al; sleeps until the UART interrupts.
 * `sti; hlt` takes the interrupt only once halted, so a byte that arrives
 * between the test and the halt still wakes it; the interrupt comes back
 * to getc_poll (irq_stub), with interrupts off again. */
getc:
        push %edx
        mov $COM1 + 5, %dx
getc_poll:
        in %dx, %al
        test $1, %al
        jnz 8f
        sti
        hlt
        jmp getc_poll
8:      mov $COM1, %dx
        in %dx, %al
        pop %edx
        ret

/* putc: %al to COM1, once the transmitter holds nothing. */
putc:
        push %edx
        push %eax
        mov $COM1 + 5, %dx
9:      in %dx, %al
        test $0x20, %al
        jz 9b
        pop %eax
        mov $COM1, %dx
        out %al, %dx
        pop %edx
        ret

/* Interrupts are enabled only in getc's `sti; hlt`: the stub drops the
 * frame (same privilege: EIP, CS, EFLAGS), acknowledges the 8259s and polls
 * again with interrupts off. No `iret`, which some KVM variants (PVM)
 * cannot emulate in a 32-bit guest. */
irq_stub:
        add $12, %esp
        mov $0x20, %al
        out %al, $0xa0
        out %al, $0x20
        mov $COM1 + 5, %dx
        jmp getc_poll

        .section .data
        .align 8
gdt:
        .quad 0
        .quad 0x00cf9a000000ffff           /* 0x08: code, flat, 32-bit */
        .quad 0x00cf92000000ffff           /* 0x10: data, flat */
gdt_desc:
        .word gdt_desc - gdt - 1
        .long gdt
idt_desc:
        .word 256 * 8 - 1
        .long idt
banner:
        .ascii "virtio-notifier-spec guest ready\n"
banner_end:

        .section .bss
        .align 16
cmd:
        .skip 16
idt:
        .skip 256 * 8
        .skip 4096
stack_top:
